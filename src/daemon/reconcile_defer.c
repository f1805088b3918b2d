/* reconcile_defer.c - the queue of sweep actions that wait for a COMMIT in
 * flight (reconcile_defer.h): owned copies, oldest first. */
#include "daemon/reconcile_defer.h"

#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

static void drop(reconcile_deferred *e)
{
    free(e->ids);
    free(e->nonce);
    free(e->text);
}

static int copy_str(const char *s, char **out)
{
    *out = NULL;
    return s && !(*out = strdup(s)) ? -1 : 0;
}

int reconcile_defer_push(reconcile_defer_queue *q, const sweep_action *a)
{
    reconcile_deferred e = { .a = *a };
    if (a->ids && a->n && !(e.ids = malloc(a->n * sizeof *e.ids)))
        return -1;
    if (e.ids)
        memcpy(e.ids, a->ids, a->n * sizeof *e.ids);
    if (copy_str(a->nonce, &e.nonce) != 0 || copy_str(a->text, &e.text) != 0) {
        drop(&e);
        return -1;
    }
    if (q->head && q->head == q->n)
        q->head = q->n = 0;
    if (VEC_GROW(q->v, q->cap, q->n + 1, 8) != 0) {
        drop(&e);
        return -1;
    }
    e.a.ids = e.ids;
    e.a.nonce = e.nonce;
    e.a.text = e.text;
    q->v[q->n++] = e;
    return 0;
}

const sweep_action *reconcile_defer_front(const reconcile_defer_queue *q)
{
    return q->head < q->n ? &q->v[q->head].a : NULL;
}

void reconcile_defer_pop(reconcile_defer_queue *q)
{
    if (q->head < q->n)
        drop(&q->v[q->head++]);
}

void reconcile_defer_free(reconcile_defer_queue *q)
{
    while (q->head < q->n)
        reconcile_defer_pop(q);
    free(q->v);
    *q = (reconcile_defer_queue){ 0 };
}
