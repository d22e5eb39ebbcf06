/*
 * The Groups line that `qkey sim init` and `qkey-kme-sim init` write: never weaker than what
 * the running OpenSSL offers with no configuration.
 */
#ifndef QKEY_TOOLS_PQ_GROUPS_H
#define QKEY_TOOLS_PQ_GROUPS_H

/* Where libcrypto offers X25519MLKEM768 (OpenSSL >= 3.5): the ML-KEM + QKD group first, then
 * OpenSSL's own X25519MLKEM768 ahead of any classical group,
 * "x25519mlkem768_qkd:X25519MLKEM768:x25519_qkd:x25519"; elsewhere "x25519_qkd:x25519". */
const char *qkt_default_groups(void);

#endif
