/* suggest.c - edit distance for "did you mean" hints. */
#include "base/suggest.h"

#include <string.h>

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUGGEST_MAX_WORD || lb > SUGGEST_MAX_WORD)
        return (size_t)-1;
    /* Optimal string alignment: Levenshtein plus swapping two neighbours,
     * the most common typo ("rnu" for "run") counting as one edit. */
    unsigned char d[SUGGEST_MAX_WORD + 1][SUGGEST_MAX_WORD + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            unsigned best = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u);
            if (d[i - 1][j] + 1u < best)
                best = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < best)
                best = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < best)
                best = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)best;
        }
    }
    return d[la][lb];
}

int suggest_is_close(const char *typo, const char *candidate)
{
    size_t len = strlen(typo);
    size_t limit = len <= 4 ? 1 : len <= 10 ? 2 : 3;
    return suggest_distance(typo, candidate) <= limit;
}
