// Who must have signed the image's own modules (issue 15): the image's Secure
// Boot certificate, under which Debian's kernel loads them with Secure Boot on
// (db certificates are trusted for modules). Named the way modinfo and libkmod
// show a module's signature: "signer" is the certificate's subject CN,
// "sig_key" its serial number as hex bytes joined by ':'.
#pragma once

#include <string>

#include "base/status.h"

namespace gpuhost::verify {

struct ModuleSigner {
  std::string name;    // subject commonName
  std::string serial;  // "4A:0B:..." (upper case, no leading zero bytes)
};

// The signer a PEM certificate file names; an unreadable file or one that is
// not a certificate with a CN is an error naming the file.
Result<ModuleSigner> ReadModuleSigner(const std::string& pem_path);

// Whether a sig_key as libkmod reports it is `serial` (case and a leading
// zero byte, which DER adds to a serial whose top bit is set, ignored).
bool SameSerial(std::string sig_key, std::string serial);

}  // namespace gpuhost::verify
