/* err.c - names and exit statuses for dc_err (table in err.h). */
#include "base/err.h"

const char *dc_strerror(dc_err e)
{
    switch (e) {
#define DC_ERR_TEXT(name, exit_status, text) case name: return text;
    DC_ERR_TABLE(DC_ERR_TEXT)
#undef DC_ERR_TEXT
    }
    return "unknown error";
}

int dc_err_exit_status(dc_err e)
{
    switch (e) {
#define DC_ERR_EXIT(name, exit_status, text) case name: return exit_status;
    DC_ERR_TABLE(DC_ERR_EXIT)
#undef DC_ERR_EXIT
    }
    return 70;
}
