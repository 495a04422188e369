// The readers of libvirt's XML (libvirt/virt.cc): a domain's <hostdev>
// addresses and the domain capabilities' vfio support and virt type. The
// XML comes from libvirtd, which also holds what VM owners defined.
#include <cstddef>
#include <cstdint>
#include <string>

#include "libvirt/virt.h"

using namespace gpuhost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string xml(reinterpret_cast<const char*>(data), size);
  for (const auto& a : virt::HostdevAddresses(xml)) virt::NodeDeviceName(a);
  virt::DomcapsHostdevVfio(xml);
  virt::DomcapsVirtType(xml);
  return 0;
}
