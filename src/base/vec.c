/* vec.c - vec_grow, the one grow-by-doubling of discord-cleaner (vec.h). */
#include "base/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vec_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t max = elem ? (size_t)PTRDIFF_MAX / elem : 0;   /* in elements */
    if (need > max)
        return -1;
    size_t n = *cap ? *cap : first ? first : 1;
    while (n < need)
        n = n > max / 2 ? need : n * 2;
    if (n > max)                                          /* first was huge */
        n = need;
    void *old, *grown;
    memcpy(&old, arrp, sizeof old);
    grown = realloc(old, n * elem);
    if (!grown)
        return -1;
    memcpy(arrp, &grown, sizeof grown);
    *cap = n;
    return 0;
}
