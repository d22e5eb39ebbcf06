/* The default Groups line of the files the init commands write (pq_groups.h). */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "pq_groups.h"

const char *qkt_default_groups(void)
{
    EVP_KEM *kem;
    int pq;

    ERR_set_mark();
    kem = EVP_KEM_fetch(NULL, "X25519MLKEM768", NULL); /* by name: any provider offering it */
    ERR_pop_to_mark();
    pq = kem != NULL;
    EVP_KEM_free(kem);
    return pq ? "x25519mlkem768_qkd:X25519MLKEM768:x25519_qkd:x25519" : "x25519_qkd:x25519";
}
