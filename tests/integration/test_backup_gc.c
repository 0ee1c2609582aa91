/* test_backup_gc - what backup_gc.sh cannot do from the shell:
 *
 *   test_backup_gc wrap KEYFILE
 *
 * prints the account key in KEYFILE (64 hex digits) wrapped with the
 * master key from the environment (core/bkkey.h), as account_backup_keys
 * holds it, so the provisioner's gc opens the repository the test wrote.
 */
#include "config.h"
#include "core/bkkey.h"
#include "core/err.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "wrap") != 0) {
        fprintf(stderr, "usage: test_backup_gc wrap KEYFILE\n");
        return 2;
    }
    struct sw_err err;
    sw_err_clear(&err);
    char hex[2 * SW_BKKEY_BYTES + 3] = {0};
    unsigned char key[SW_BKKEY_BYTES], master[SW_BKKEY_BYTES];
    size_t n = 0;
    FILE *f = fopen(argv[2], "r");
    int ok = f && fgets(hex, sizeof hex, f) &&
             sodium_hex2bin(key, sizeof key, hex, strlen(hex), "\r\n", &n, NULL) == 0 &&
             n == sizeof key;
    if (f)
        fclose(f);
    char out[SW_BKKEY_WRAPPED_MAX];
    if (!ok)
        fprintf(stderr, "test_backup_gc: %s does not hold 64 hex digits\n", argv[2]);
    else if (sw_bkkey_master(master, &err) < 0 || sw_bkkey_wrap(master, key, n, out, &err) < 0)
        fprintf(stderr, "test_backup_gc: %s\n", err.msg);
    else
        printf("%s\n", out);
    sodium_memzero(key, sizeof key);
    sodium_memzero(master, sizeof master);
    sodium_memzero(hex, sizeof hex);
    return ok && err.msg[0] == '\0' ? 0 : 1;
}
