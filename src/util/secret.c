/*
 * secret.c - random secrets and their hashes; see secret.h.
 */
#include "util/secret.h"
#include "util/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
secret_new(char out[SECRET_LEN + 1])
{
	unsigned char raw[SECRET_BYTES];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		log_error("getrandom failed: no secret can be made");
		abort();
	}
	/* base64url: 3 bytes become 4 characters */
	for (size_t i = 0, o = 0; i < SECRET_BYTES; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = alphabet[(v >> (6 * k)) & 63];
	}
	out[SECRET_LEN] = '\0';
}

bool
secret_plausible(const char *s)
{
	return strlen(s) == SECRET_LEN && strspn(s, alphabet) == SECRET_LEN;
}

void
secret_hash(const char *s, char out[SECRET_HEX + 1])
{
	unsigned char md[32];
	unsigned int len = 0;
	static const char hex[] = "0123456789abcdef";
	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SECRET_HEX] = '\0';
}

void
secret_link_pass(const char *token, char pass[SECRET_HEX + 1])
{
	if (token != NULL && secret_plausible(token))
		secret_hash(token, pass);
	else
		pass[0] = '\0';
}

bool
secret_pass_plausible(const char *s)
{
	return s != NULL && strlen(s) == SECRET_HEX && strspn(s, "0123456789abcdef") == SECRET_HEX;
}

bool
secret_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
