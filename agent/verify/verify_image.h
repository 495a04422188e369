// `gpuhost-agent verify-image --root DIR`: check an image tree offline,
// with libkmod pointed at its own module directory: every module the agent
// may load resolves, with its dependencies, for the image's kernel; the
// firmware files they declare exist; the modprobe configuration parses.
// The image build runs it and fails on a gap.
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "verify/module_signer.h"

namespace gpuhost::verify {

struct Finding {
  std::string what;  // "module vfio_pci", "firmware nvidia/550.163.01/gsp_ga10x.bin"
  bool ok = false;
  std::string detail;  // path found, or why not
  // A gap that only costs an optional feature (firmware a dependency asks
  // for, e.g. ccp's AMD SEV images): printed, never fails the image.
  bool optional = false;
};

struct ImageReport {
  std::string kernel_release;
  std::vector<Finding> findings;
  bool ok() const;
};

// `nvidia`: also require the NVIDIA modules (the nvidia profile).
// `signer`: the modules the image adds to its kernel's (DKMS's, under
// /usr/lib/modules/RELEASE/updates/) must carry a signature by it (issue 15:
// under Secure Boot nothing else loads them); null: signatures not looked at.
ImageReport VerifyImage(const Fs& fs, bool nvidia, const ModuleSigner* signer = nullptr);

}  // namespace gpuhost::verify
