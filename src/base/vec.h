/* vec.h - one helper for the growable arrays of discord-cleaner.
 *
 * Every array that grows by doubling (action queues, id lists, byte
 * buffers) makes room through vec_grow instead of its own copy of
 * "cap ? cap * 2 : N, realloc, check, assign": one place checks the size
 * arithmetic and keeps the array intact when memory runs out. */
#ifndef DC_VEC_H
#define DC_VEC_H

#include <stddef.h>

/* Makes room for need elements of elem bytes in the array *arrp points to
 * (arrp is the address of a T * variable, which may be NULL; *cap is its
 * capacity in elements).  When need > *cap, the capacity doubles, starting
 * from first when *cap is 0, until it holds need; the array is moved with
 * realloc.  Returns 0 when there is room (at once when need <= *cap), or -1
 * when need elements would exceed PTRDIFF_MAX bytes, elem is 0, or realloc
 * fails: then the array and *cap are left as they were (still valid, still
 * owned by the caller).  Assumes, like POSIX, that T * and void * have one
 * representation. */
int vec_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first);

/* VEC_GROW(arr, cap, need, first): vec_grow on the array variable arr and
 * its capacity variable cap, with the element size taken from arr. */
#define VEC_GROW(arr, cap, need, first) vec_grow(&(arr), &(cap), (need), sizeof *(arr), (first))

#endif
