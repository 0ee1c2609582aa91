/* hvm.c - the hvm (KVM-style full virtualisation) plan kind: any OS,
 * virtio disk and network, and a virtio balloon with stats every 5 s. The
 * domain's ceiling is the plan's max RAM and it boots at the guaranteed
 * floor; the ballooning controller (later work) moves it in between. */
#include "config.h"
#include "engines/domxml.h"
#include "engines/kind.h"
#include "engines/virt.h"
#include "core/enums.h"

static void hvm_domain_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                            struct sw_domxml_vars *v)
{
    (void)eng;
    sw_domxml_set(v, "current_memory_kib", "%lld", (long long)job->ram_mb * 1024);
}

static const struct sw_engine_driver hvm_driver = {
    .kind = SW_KIND_HVM,
    .name = "hvm",
    .domain_vars = hvm_domain_vars,
    .create = sw_virt_create,
    .start = sw_virt_start,
    .stop = sw_virt_stop,
    .reboot = sw_virt_reboot,
    .suspend = sw_virt_suspend,
    .unsuspend = sw_virt_unsuspend,
    .terminate = sw_virt_terminate,
    .reinstall = sw_virt_reinstall,
    .resize = sw_virt_resize,
    .reset_password = sw_virt_reset_password,
    .define = sw_virt_define,
    .live_memory = sw_virt_live_balloon,
};

const struct sw_engine_driver *sw_engine_hvm_driver(void)
{
    return &hvm_driver;
}
