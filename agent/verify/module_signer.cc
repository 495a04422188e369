#include "verify/module_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <memory>
#include <vector>

namespace gpuhost::verify {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::string Normalize(std::string hex) {
  std::string out;
  for (char c : hex) {
    if (c != ':') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  while (out.size() > 2 && out.compare(0, 2, "00") == 0) out.erase(0, 2);
  return out;
}

}  // namespace

Result<ModuleSigner> ReadModuleSigner(const std::string& pem_path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(pem_path.c_str(), "r"));
  if (!bio) return Status::NotFound(pem_path + ": cannot open the signing certificate");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::Invalid(pem_path + ": not a PEM X.509 certificate");
  char cn[256] = {};
  int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  if (n <= 0) return Status::Invalid(pem_path + ": the certificate's subject has no CN");
  std::unique_ptr<BIGNUM, BnFree> bn(
      ASN1_INTEGER_to_BN(X509_get_serialNumber(cert.get()), nullptr));
  if (!bn) return Status::Invalid(pem_path + ": unreadable serial number");
  std::vector<unsigned char> bytes(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), bytes.data());
  std::string serial;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char b : bytes) {
    if (!serial.empty()) serial += ':';
    serial += kHex[b >> 4];
    serial += kHex[b & 15];
  }
  return ModuleSigner{std::string(cn, static_cast<size_t>(n)), serial};
}

bool SameSerial(std::string sig_key, std::string serial) {
  return !serial.empty() && Normalize(std::move(sig_key)) == Normalize(std::move(serial));
}

}  // namespace gpuhost::verify
