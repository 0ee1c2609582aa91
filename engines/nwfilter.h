/* nwfilter.h - the network filters slipway's guest NICs reference
 * (templates/nwfilter/), defined on the node's libvirt at engine start. */
#ifndef SW_ENGINE_NWFILTER_H
#define SW_ENGINE_NWFILTER_H

#include <libvirt/libvirt.h>
#include <stdbool.h>

struct sw_err;

/* Defines (or redefines, by their fixed UUIDs) every filter of
 * templates_dir/nwfilter/ on conn, dependencies first. A hypervisor whose
 * libvirt has no nwfilter driver (the test driver) answers unsupported:
 * *enforced is then false and it returns 0. Returns -1 (err set) when a
 * driver that has filters refuses ours: guests must not boot unfiltered. */
int sw_nwfilter_define(virConnectPtr conn, const char *templates_dir, bool *enforced,
                       struct sw_err *err);

#endif
