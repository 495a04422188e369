#include "remote/libvirt_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"

namespace gpuhost::remote {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in a PEM text, in order.
std::vector<X509Ptr> ReadCerts(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemBio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

std::string Subject(X509* c) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(c), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::vector<std::string>> ParseDnList(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string dn(Trim(line));
    if (dn.empty() || dn[0] == '#') continue;
    for (char ch : dn) {
      if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        return Status::Invalid("credential gpuhost.libvirt-tls-allowed-dn line " +
                               std::to_string(n) +
                               ": a DN pattern may not hold '\"', '\\' or control characters");
      }
    }
    out.push_back(dn);
  }
  return out;
}

bool IsAllowedDnLine(const std::string& line) {
  std::string_view t = Trim(line);
  return t.starts_with("tls_allowed_dn_list") &&
         Trim(t.substr(std::string_view("tls_allowed_dn_list").size())).starts_with("=");
}

constexpr const char* kMarker =
    "# gpuhost-agent remote-libvirt: from the credential gpuhost.libvirt-tls-allowed-dn";

}  // namespace

std::string WithAllowedDnList(const std::string& conf, const std::vector<std::string>& dns) {
  std::string out;
  std::istringstream in(conf);
  std::string line;
  while (std::getline(in, line)) {
    if (line == kMarker || IsAllowedDnLine(line)) continue;
    out += line + "\n";
  }
  if (!dns.empty()) {
    out += std::string(kMarker) + "\ntls_allowed_dn_list = [";
    for (size_t i = 0; i < dns.size(); ++i) out += (i ? ", \"" : "\"") + dns[i] + "\"";
    out += "]\n";
  }
  return out;
}

Result<LibvirtTlsSummary> InstallLibvirtTls(Fs& fs, const LibvirtTlsInput& in) {
  ERR_clear_error();
  std::vector<X509Ptr> chain = ReadCerts(in.cert);
  if (chain.empty()) {
    return Status::Invalid("credential gpuhost.libvirt-tls-cert: no PEM certificate in it");
  }
  std::vector<X509Ptr> cas = ReadCerts(in.ca);
  if (cas.empty())
    return Status::Invalid("credential gpuhost.libvirt-tls-ca: no PEM certificate in it");
  BioPtr kbio = MemBio(in.key);
  KeyPtr key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) return Status::Invalid("credential gpuhost.libvirt-tls-key: no PEM private key in it");
  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::Invalid(
        "credential gpuhost.libvirt-tls-key is not the key of the certificate in "
        "gpuhost.libvirt-tls-cert");
  }
  // The node's certificate must chain to the CA the clients are checked
  // against: libvirt's clients verify the server with that same CA file.
  StorePtr store(X509_STORE_new());
  for (auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
  StoreCtxPtr vctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(vctx.get(), store.get(), chain[0].get(), untrusted);
  int ok = X509_verify_cert(vctx.get());
  int err = X509_STORE_CTX_get_error(vctx.get());
  sk_X509_free(untrusted);
  ERR_clear_error();
  if (ok != 1) {
    return Status::Invalid(
        "credential gpuhost.libvirt-tls-cert does not verify against "
        "gpuhost.libvirt-tls-ca: " +
        std::string(X509_verify_cert_error_string(err)));
  }
  auto dns = ParseDnList(in.allowed_dn);
  if (!dns.ok()) return dns.status();

  LibvirtTlsSummary sum;
  sum.server_subject = Subject(chain[0].get());
  sum.ca_subject = Subject(cas[0].get());
  sum.allowed_dn = *dns;

  auto conf = fs.Read(kLibvirtdConf);
  if (!conf.ok() && !conf.status().IsNotFound()) return conf.status();
  std::string old_conf = conf.ok() ? *conf : "";
  // The key first and the record last: a run killed in between leaves no
  // record, so the page never says "on" for files that are not all there.
  if (Status s = fs.WriteAtomic(kKeyPath, in.key, 0600); !s.ok()) return s;
  if (Status s = fs.WriteAtomic(kCertPath, in.cert, 0644); !s.ok()) return s;
  if (Status s = fs.WriteAtomic(kCaPath, in.ca, 0644); !s.ok()) return s;
  if (Status s = fs.WriteAtomic(kLibvirtdConf, WithAllowedDnList(old_conf, sum.allowed_dn), 0644);
      !s.ok()) {
    return s;
  }
  nlohmann::json rec = {{"port", kTlsPort},
                        {"server_subject", sum.server_subject},
                        {"ca_subject", sum.ca_subject},
                        {"allowed_dn", sum.allowed_dn}};
  if (Status s = fs.WriteAtomic(kRecordPath, rec.dump(2) + "\n", 0644); !s.ok()) return s;
  return sum;
}

}  // namespace gpuhost::remote
