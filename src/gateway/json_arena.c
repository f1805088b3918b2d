/* json_arena.c - cJSON's allocations of one message from a per-thread block
 * (see json_arena.h).
 *
 * cJSON has only process-wide hooks, so they are installed once and decide
 * per call: inside json_arena_parse on this thread, memory comes from the block (a
 * bump pointer); everywhere else, from malloc.  Freeing is by address:
 * block memory is a no-op, anything else goes to free(), so trees, print
 * buffers and items of any origin can be mixed and freed as before. */
#include "gateway/json_arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer the block is poisoned while unused, so a message's
 * memory read after json_arena_free released it is still reported. */
#if defined(__SANITIZE_ADDRESS__)
#define JA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JA_ASAN 1
#endif
#endif
#ifdef JA_ASAN
#include <sanitizer/asan_interface.h>
#define JA_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define JA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define JA_POISON(p, n) ((void)(p), (void)(n))
#define JA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define JA_BLOCK (64 * 1024)    /* a member remove takes ~1 KiB, a message with content a few */
#define JA_ALIGN 16             /* malloc's alignment */

typedef struct {
    unsigned char *base;        /* JA_BLOCK bytes, allocated on first use */
    size_t used;
    int parsing;                /* in json_arena_parse, and the block has not run out during it */
    int live;                   /* trees of json_arena_parse rooted in the block, not yet freed */
} arena;

static _Thread_local arena A;
static _Thread_local size_t heap_allocs;
static _Thread_local char last_error[128];
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static int in_block(const void *p)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)A.base;
    return A.base && a >= b && a < b + JA_BLOCK;
}

static void *hook_malloc(size_t n)
{
    size_t need = (n + JA_ALIGN - 1) & ~(size_t)(JA_ALIGN - 1);
    if (A.parsing) {
        if (need >= n && need <= JA_BLOCK - A.used) {
            void *p = A.base + A.used;
            A.used += need;
            JA_UNPOISON(p, n);
            return p;
        }
        /* Out of room: the rest of this message comes from malloc.  So a
         * tree has block memory exactly when its root (the first
         * allocation) is in the block, which is what json_arena_free counts by. */
        A.parsing = 0;
    }
    heap_allocs++;
    return malloc(n);
}

static void hook_free(void *p)
{
    if (!in_block(p))
        free(p);                /* block memory is released all at once */
}

static void install_hooks(void)
{
    cJSON_Hooks h = { .malloc_fn = hook_malloc, .free_fn = hook_free };
    cJSON_InitHooks(&h);
}

static void release_block(void)
{
    A.used = 0;
    JA_POISON(A.base, JA_BLOCK);
}

/* End of the string whose opening quote is just before p (past its
 * closing quote), or end when it is not closed. */
static const char *skip_string(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return end;
        const char *b = q;
        while (b > p && b[-1] == '\\')
            b--;
        p = q + 1;
        if ((q - b) % 2 == 0)     /* an even run of backslashes escapes nothing */
            return p;
    }
}

static int refuse(const char *fmt, size_t a, size_t b)
{
    snprintf(last_error, sizeof last_error, fmt, a, b);
    return -1;
}

int json_arena_check_cost(const char *text, size_t len)
{
    if (len <= JA_NODES_FLOOR)
        return 0;               /* a value takes at least one byte */
    size_t limit = len / JA_BYTES_PER_NODE;
    if (limit < JA_NODES_FLOOR)
        limit = JA_NODES_FLOOR;
    if (limit > JA_NODES_CAP)
        limit = JA_NODES_CAP;
    size_t nodes = 1, depth = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        switch (*p++) {
        case '"':
            p = skip_string(p, end);
            break;
        case ',':
            nodes++;
            break;
        case '[':
        case '{':
            nodes++;
            if (++depth > JA_DEPTH_MAX)
                return refuse("message nested deeper than %zu levels (%zu bytes)", (size_t)JA_DEPTH_MAX, len);
            break;
        case ']':
        case '}':
            depth -= depth > 0;
            break;
        default:
            continue;
        }
        if (nodes > limit)
            return refuse("message of %zu bytes holds more than %zu JSON values", len, limit);
    }
    return 0;
}

const char *json_arena_last_error(void) { return last_error; }
size_t json_arena_heap_allocs(void) { return heap_allocs; }

cJSON *json_arena_parse(const char *text, size_t len)
{
    if (json_arena_check_cost(text, len) != 0)
        return NULL;            /* refused before cJSON allocates anything */
    pthread_once(&hooks_once, install_hooks);
    if (!A.base && (A.base = malloc(JA_BLOCK)) != NULL)
        JA_POISON(A.base, JA_BLOCK);
    A.parsing = A.base != NULL;
    cJSON *tree = cJSON_ParseWithLength(text, len);
    A.parsing = 0;
    if (tree && in_block(tree))
        A.live++;
    else if (A.live == 0 && A.base)
        release_block();        /* a failed parse left its nodes behind */
    if (!tree)
        snprintf(last_error, sizeof last_error, "message is not valid JSON");
    return tree;
}

void json_arena_free(cJSON *tree)
{
    if (!tree)
        return;
    int counted = in_block(tree);
    cJSON_Delete(tree);         /* walks the tree: added items are freed */
    if (counted && --A.live == 0)
        release_block();
}
