/* tests/lib/bootorder.h - the boot order of one disk of a domain's XML, for
 * the tests that check where an hvm server boots (unit/engines/test_domxml.c,
 * unit/engines/test_iso.c, integration/test_iso_boot.c). Header only. */
#ifndef SW_TESTS_BOOTORDER_H
#define SW_TESTS_BOOTORDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The boot order of the disk whose target is dev in xml (libvirt's
 * per-device <boot order='N'/>), 0 for none or no such disk. */
static inline int sw_test_boot_order(const char *xml, const char *dev)
{
    char t[64];
    snprintf(t, sizeof t, "<target dev='%s'", dev);
    const char *p = strstr(xml, t), *d = NULL;
    if (!p)
        return 0;
    for (const char *q = strstr(xml, "<disk"); q && q < p; q = strstr(q + 1, "<disk"))
        d = q;
    const char *end = strstr(p, "</disk>"), *b = d ? strstr(d, "<boot order='") : NULL;
    return b && end && b < end ? atoi(b + strlen("<boot order='")) : 0;
}

#endif
