/* nr_err_test.c - errors as values (CONVENTIONS section 3): nr_errf fills
 * code and sentence and returns the code, tolerates a NULL err, truncates
 * long sentences inside the buffer; every code has its symbolic name. */
#include <inttypes.h>
#include <string.h>

#include "nr_err.h"
#include "unit_check.h"

static void check_format(void)
{
    struct nr_err err;

    memset(&err, 0x5a, sizeof(err));
    int rc = nr_errf(&err, NR_EREFUSED,
                     "refused: after removing %016" PRIx64 ", %u of %u "
                     "remaining voters are healthy; quorum is %u",
                     (uint64_t)0xabc, 1u, 2u, 2u);
    UNIT_CHECK(rc == NR_EREFUSED, "nr_errf returns its code (%d)", rc);
    UNIT_CHECK(err.code == NR_EREFUSED, "err.code filled (%d)", err.code);
    UNIT_CHECK(strcmp(err.msg, "refused: after removing 0000000000000abc, 1 of 2 remaining "
                               "voters are healthy; quorum is 2") == 0,
               "sentence formatted: \"%s\"", err.msg);
    UNIT_CHECK(nr_errf(NULL, NR_EINVAL, "ignored %d", 1) == NR_EINVAL,
               "a NULL err still returns the code");

    char long_arg[600];
    memset(long_arg, 'x', sizeof(long_arg) - 1);
    long_arg[sizeof(long_arg) - 1] = '\0';
    rc = nr_errf(&err, NR_EINVAL, "field: %s", long_arg);
    UNIT_CHECK(rc == NR_EINVAL && err.code == NR_EINVAL, "long sentence: code kept");
    UNIT_CHECK(strlen(err.msg) == sizeof(err.msg) - 1, "truncated to %zu bytes (got %zu)",
               sizeof(err.msg) - 1, strlen(err.msg));
    UNIT_CHECK(strncmp(err.msg, "field: xxx", 10) == 0, "truncation keeps the start");

    rc = nr_errf(&err, NR_ESTALE, "%s", "");
    UNIT_CHECK(rc == NR_ESTALE && err.msg[0] == '\0', "an empty sentence is empty");
}

static void check_names(void)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
            {NR_OK, "NR_OK"},
            {NR_EINVAL, "NR_EINVAL"},
            {NR_ENOTLEADER, "NR_ENOTLEADER"},
            {NR_EBUSY, "NR_EBUSY"},
            {NR_ESTALE, "NR_ESTALE"},
            {NR_EUNKNOWN, "NR_EUNKNOWN"},
            {NR_ERANGE, "NR_ERANGE"},
            {NR_EREFUSED, "NR_EREFUSED"},
            {NR_ENOMEM, "NR_ENOMEM"},
            {NR_ECORRUPT, "NR_ECORRUPT"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        UNIT_CHECK(strcmp(nr_code_name(names[i].code), names[i].name) == 0, "code %d is %s, got %s",
                   names[i].code, names[i].name, nr_code_name(names[i].code));
    UNIT_CHECK(nr_code_name(-1000) != NULL && strcmp(nr_code_name(-1000), "NR_OK") != 0,
               "an unknown code gets a placeholder name, not NULL");
    UNIT_CHECK(nr_code_name(5) != NULL, "a positive code gets a name, not NULL");
}

int main(void)
{
    check_format();
    check_names();
    return unit_finish();
}
