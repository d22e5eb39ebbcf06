#!/bin/bash
# What libqkey-dev installs is enough to build against: install the dev component of this tree
# into a scratch prefix, compile a program that uses the key-source API with nothing but
# `pkg-config --cflags --libs qkey`, and run it: quantum random bytes and a QKD key pair made on
# one side of a simulated link and fetched on the other.
source "$(dirname "$0")/lib.sh"
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
P=$T/prefix
cmake --install "$QKEY_BUILD" --prefix "$P" --component dev >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install --component dev"; }
pc=$(find "$P" -name qkey.pc | head -1)
[[ -n $pc ]] || fail "no qkey.pc installed"
# the tree was configured for another prefix: say where this copy lives, as a package would
sed -i "s|^prefix=.*|prefix=$P|" "$pc"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs qkey) || fail "pkg-config qkey"
ok "pkg-config --cflags --libs qkey: $flags"
cat >"$T/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <qkey/qks.h>

static QKS_CTX *open_side(const char *conf)
{
    QKS_CONFIG *cfg = qks_config_new();
    QKS_CTX *ctx = NULL;
    if (cfg == NULL || qks_config_load_file(cfg, conf) != QKS_OK || qks_ctx_new(cfg, &ctx) != QKS_OK)
        fprintf(stderr, "%s: %s\n", conf, qks_last_error());
    qks_config_free(cfg);
    return ctx;
}

int main(int argc, char **argv)
{
    unsigned char r[32];
    QKS_KEY *ka = NULL, *kb = NULL;
    QKS_CTX *a = open_side(argv[1]), *b = open_side(argv[2]);
    int ok;

    if (argc != 3 || a == NULL || b == NULL)
        return 1;
    if (qks_random(a, r, sizeof(r)) != QKS_OK || qks_key_new(a, "SAE_B", &ka) != QKS_OK ||
        qks_key_get(b, "SAE_A", ka->key_id, &kb) != QKS_OK) {
        fprintf(stderr, "%s\n", qks_last_error());
        return 1;
    }
    ok = ka->len == kb->len && memcmp(ka->key, kb->key, ka->len) == 0;
    printf("qkey %s: %zu random bytes, key %s of %zu bytes %s on both sides\n", qks_version(),
           sizeof(r), ka->key_id, ka->len, ok ? "equal" : "DIFFERENT");
    qks_key_free(ka);
    qks_key_free(kb);
    qks_ctx_free(a);
    qks_ctx_free(b);
    return ok ? 0 : 1;
}
C
san=()
[[ ${QKEY_SANITIZE:-0} == 1 || ${QKEY_SANITIZE:-} == ON ]] && san=(-fsanitize=address,undefined)
# shellcheck disable=SC2086
"${CC:-cc}" "${san[@]}" -Wall -Wextra -o "$T/use" "$T/use.c" $flags >"$T/cc.log" 2>&1 ||
  { cat "$T/cc.log"; fail "a program using <qkey/qks.h> does not build with pkg-config's flags"; }
"$QKEY" sim init "$T/link" >/dev/null || fail "qkey sim init"
out=$("$T/use" "$T/link/qkey-a.conf" "$T/link/qkey-b.conf") || fail "the program failed: $out"
ok "$out"
