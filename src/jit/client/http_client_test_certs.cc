#include "jit/client/http_client_test_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

namespace jit::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertPem(X509* cert) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  return BioText(bio.get());
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A certificate for `key` named `cn`, valid from an hour ago for a day,
// issued by `issuer` (by itself when null); signed by the caller.
Cert MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, long serial) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  return cert;
}

}  // namespace

StatusOr<TestPki> MakeTestPki(const std::vector<std::string>& alt_names) {
  Key ca_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return InternalError("cannot make EC keys");
  // A name of its own, so that two test CAs are never taken for each other.
  unsigned char nonce[8];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1)
    return InternalError("no random bytes");
  std::string ca_name = "jitd test CA ";
  for (unsigned char b : nonce) ca_name += "0123456789abcdef"[b & 15];
  Cert ca = MakeCert(ca_key.get(), ca_name, nullptr, 1);
  bool ok =
      AddExtension(ca.get(), ca.get(), NID_basic_constraints,
                   "critical,CA:TRUE") &&
      AddExtension(ca.get(), ca.get(), NID_key_usage,
                   "critical,keyCertSign,cRLSign") &&
      AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash") &&
      X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0;
  if (!ok) return InternalError("cannot make the test CA");
  Cert server = MakeCert(server_key.get(), "jitd test server", ca.get(), 2);
  std::string san;
  for (const std::string& n : alt_names) san += (san.empty() ? "" : ",") + n;
  ok =
      AddExtension(server.get(), ca.get(), NID_basic_constraints, "CA:FALSE") &&
      AddExtension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth") &&
      (san.empty() ||
       AddExtension(server.get(), ca.get(), NID_subject_alt_name, san)) &&
      X509_sign(server.get(), ca_key.get(), EVP_sha256()) > 0;
  if (!ok) return InternalError("cannot make the test server certificate");
  return TestPki{CertPem(ca.get()), CertPem(server.get()),
                 KeyPem(server_key.get())};
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return UnavailableError("cannot write " + path);
  chmod(path.c_str(), 0600);
  return OkStatus();
}

}  // namespace jit::testing
