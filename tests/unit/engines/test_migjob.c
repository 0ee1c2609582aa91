/* test_migjob.c - the epoch a live move's destination XML carries
 * (engines/migjob.c: sw_migjob_set_epoch), read back as the reconciler reads
 * it (engines/epoch.c) from a domain the test driver defines with it. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "engines/epoch.h"
#include "engines/migjob.h"

#define NS "xmlns:slipway='" SW_ENGINE_DOMAIN_NS "'"
#define DOMAIN(meta)                                                                               \
    "<domain type='test'><name>sw-mig</name>"                                                      \
    "<uuid>6f1c2d3e-4f50-4612-8734-9a8b7c6d5e4f</uuid><metadata>" meta "</metadata>"              \
    "<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"         \
    "</domain>"

static const char with_epoch[] = DOMAIN("<slipway:server " NS "><slipway:kind>hvm</slipway:kind>"
                                        "<slipway:epoch>3</slipway:epoch></slipway:server>");
static const char without_epoch[] = DOMAIN("<slipway:server " NS "><slipway:kind>hvm</slipway:kind>"
                                           "</slipway:server>");

/* The epoch libvirt's test driver keeps for xml once defined. */
static int64_t defined_epoch(const char *xml)
{
    virConnectPtr c = virConnectOpen("test:///default");
    assert_non_null(c);
    virDomainPtr d = virDomainDefineXML(c, xml);
    assert_non_null(d);
    int64_t e = sw_epoch_of_domain(d);
    virDomainUndefine(d);
    virDomainFree(d);
    virConnectClose(c);
    return e;
}

static void test_replaced(void **state)
{
    (void)state;
    char *x = sw_migjob_set_epoch(with_epoch, 4);
    assert_non_null(x);
    assert_non_null(strstr(x, "<slipway:epoch>4</slipway:epoch>"));
    assert_null(strstr(x, ">3<"));
    assert_non_null(strstr(x, "<slipway:kind>hvm</slipway:kind>"));
    assert_int_equal(defined_epoch(x), 4);
    free(x);
}

static void test_added(void **state)
{
    (void)state;
    char *x = sw_migjob_set_epoch(without_epoch, 7);
    assert_non_null(x);
    assert_int_equal(defined_epoch(x), 7);
    free(x);
}

static void test_refused(void **state)
{
    (void)state;
    assert_null(sw_migjob_set_epoch(DOMAIN(""), 2));
    assert_null(sw_migjob_set_epoch(DOMAIN("<other:server xmlns:other='urn:x'/>"), 2));
    assert_null(sw_migjob_set_epoch("<domain", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaced),
        cmocka_unit_test(test_added),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
