/* replay_rest.c - REST in a replay: nothing goes to the network.
 *
 * A request is answered, in this order, by
 *   1. the first unused recorded exchange ("k":"rest") with the same method and path,
 *   2. the first header rule that matches: {"method":"GET","path":"/guilds/1"
 *      or "path_prefix":"/guilds/","status":403,"body":{"code":50001}},
 *   3. the default: GET .../members/{id} -> 404 {"code":10007} (Unknown Member),
 *      any other GET -> 404 {"code":0}, anything else -> 200 {}.
 * Every request is captured for the summary; those with a method other than
 * GET (chat replies and the like) also go into the outcome as "replies". */
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"

static int from_recording(replay *r, const char *method, const char *path, long *status, char **body)
{
    for (size_t i = 0; i < r->fx.n_index; i++) {    /* recorded answers: indexed up front */
        fixture_entry *e = &r->fx.index[i];
        if (e->kind != FX_REST || e->used || strcmp(e->method, method) != 0 || strcmp(e->path, path) != 0)
            continue;
        e->used = 1;
        *status = e->status;
        *body = e->data ? strdup(e->data) : NULL;
        return 1;
    }
    return 0;
}

static int rule_matches(const cJSON *rule, const char *method, const char *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(rule, "method");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(rule, "path");
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(rule, "path_prefix");
    if (cJSON_IsString(m) && strcmp(m->valuestring, method) != 0)
        return 0;
    if (cJSON_IsString(p))
        return strcmp(p->valuestring, path) == 0;
    if (cJSON_IsString(pp))
        return strncmp(pp->valuestring, path, strlen(pp->valuestring)) == 0;
    return 1;
}

static int from_rules(replay *r, const char *method, const char *path, long *status, char **body)
{
    const cJSON *rule;
    cJSON_ArrayForEach(rule, r->fx.rest_rules) {
        if (!rule_matches(rule, method, path))
            continue;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(rule, "status");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(rule, "body");
        *status = cJSON_IsNumber(st) ? (long)st->valuedouble : 200;
        *body = b ? cJSON_PrintUnformatted(b) : NULL;
        return 1;
    }
    return 0;
}

static void by_default(const char *method, const char *path, long *status, char **body)
{
    if (strcmp(method, "GET") != 0) {
        *status = 200;
        *body = strdup("{}");
    } else if (strstr(path, "/members/")) {
        *status = 404;
        *body = strdup("{\"message\":\"Unknown Member\",\"code\":10007}");
    } else {
        *status = 404;
        *body = strdup("{\"message\":\"no answer in the fixture\",\"code\":0}");
    }
}

static void capture(replay *r, const char *method, const char *path, const char *json_body, long status)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "method", method);
    cJSON_AddStringToObject(q, "path", path);
    cJSON_AddNumberToObject(q, "status", (double)status);
    cJSON_AddItemToArray(r->requests, q);
    if (strcmp(method, "GET") == 0)
        return;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "method", method);
    cJSON_AddStringToObject(reply, "path", path);
    cJSON *b = json_body ? cJSON_Parse(json_body) : NULL;
    cJSON_AddItemToObject(reply, "body", b ? b : cJSON_CreateNull());
    cJSON_AddItemToArray(r->replies, reply);
}

void replay_answer_rest(void *ctx, const char *method, const char *path, const char *json_body,
                        long *status, char **body)
{
    replay *r = ctx;
    *body = NULL;
    if (!from_recording(r, method, path, status, body) && !from_rules(r, method, path, status, body))
        by_default(method, path, status, body);
    capture(r, method, path, json_body, *status);
}
