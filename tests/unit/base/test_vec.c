/* test_vec.c - vec_grow: doubling from a first capacity, contents kept,
 * size overflow refused and a failed realloc leaving the array intact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/vec.h"

/* Under AddressSanitizer (make asan) a refused allocation must return NULL,
 * as it does in a plain build, instead of stopping the test. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void grows_from_first_then_doubles(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(VEC_GROW(v, cap, 1, 16), 0);
    assert_non_null(v);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 16; i++)
        v[i] = i;
    assert_int_equal(VEC_GROW(v, cap, 17, 16), 0);
    assert_int_equal(cap, 32);
    assert_int_equal(VEC_GROW(v, cap, 100, 16), 0);   /* doubles until it fits */
    assert_int_equal(cap, 128);
    for (int i = 0; i < 16; i++)
        assert_int_equal(v[i], i);
    v[127] = 127;
    free(v);
}

static void room_enough_changes_nothing(void **state)
{
    (void)state;
    char *b = NULL;
    size_t cap = 0;
    assert_int_equal(vec_grow(&b, &cap, 10, 1, 4096), 0);
    assert_int_equal(cap, 4096);
    char *before = b;
    assert_int_equal(vec_grow(&b, &cap, 4096, 1, 4096), 0);
    assert_ptr_equal(b, before);
    assert_int_equal(cap, 4096);
    assert_int_equal(vec_grow(&b, &cap, 0, 1, 4096), 0);
    assert_int_equal(cap, 4096);
    free(b);
}

static void zero_first_starts_at_one(void **state)
{
    (void)state;
    double *v = NULL;
    size_t cap = 0;
    assert_int_equal(VEC_GROW(v, cap, 1, 0), 0);
    assert_int_equal(cap, 1);
    assert_int_equal(VEC_GROW(v, cap, 3, 0), 0);
    assert_int_equal(cap, 4);
    free(v);
}

/* need * elem past PTRDIFF_MAX (or past SIZE_MAX, where it would wrap) is
 * refused before realloc: the array and its capacity stay as they were. */
static void overflow_refused_array_intact(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(VEC_GROW(v, cap, 4, 4), 0);
    v[0] = 42;
    uint64_t *before = v;
    assert_int_equal(VEC_GROW(v, cap, SIZE_MAX, 4), -1);
    assert_int_equal(VEC_GROW(v, cap, SIZE_MAX / sizeof *v + 2, 4), -1);   /* would wrap */
    assert_int_equal(VEC_GROW(v, cap, (size_t)PTRDIFF_MAX / sizeof *v + 1, 4), -1);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 4);
    assert_int_equal(v[0], 42);
    assert_int_equal(vec_grow(&v, &cap, 5, 0, 4), -1);                     /* no element size */
    assert_int_equal(cap, 4);
    free(v);
}

/* A size that passes the arithmetic but no allocator can give (2^62 bytes):
 * realloc fails and the old array is still there, contents and all. */
static void failed_realloc_leaves_array_intact(void **state)
{
    (void)state;
    char *b = NULL;
    size_t cap = 0;
    assert_int_equal(vec_grow(&b, &cap, 16, 1, 16), 0);
    memcpy(b, "kept", 5);
    char *before = b;
    assert_int_equal(vec_grow(&b, &cap, (size_t)PTRDIFF_MAX / 2, 1, 16), -1);
    assert_ptr_equal(b, before);
    assert_int_equal(cap, 16);
    assert_string_equal(b, "kept");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_from_first_then_doubles),
        cmocka_unit_test(room_enough_changes_nothing),
        cmocka_unit_test(zero_first_starts_at_one),
        cmocka_unit_test(overflow_refused_array_intact),
        cmocka_unit_test(failed_realloc_leaves_array_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
