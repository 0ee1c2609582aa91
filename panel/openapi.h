/* openapi.h - the committed panel/openapi.json, built into the panel:
 * openapi_doc.c is generated from it by the build (panel/Makefile.inc), so
 * the document served is the one tests/lint/openapi.sh checked against the
 * route table, and no file needs to be found at run time. */
#ifndef SW_PANEL_OPENAPI_H
#define SW_PANEL_OPENAPI_H

#include <stddef.h>

/* The document's bytes followed by a NUL; sw_openapi_doc_len excludes it. */
extern const unsigned char sw_openapi_doc[];
extern const size_t sw_openapi_doc_len;

#endif
