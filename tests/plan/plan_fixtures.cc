#include "plan/plan_fixtures.h"

#include "support/sysfs_builder.h"

namespace gpuhost::testing {

void BuildGpuServer(const std::string& root) {
  SysfsBuilder b(root);
  // A serial with the padding and a quote some firmware puts there: label escaping.
  b.SetIdentity("4f2a6d1c9e8b47a3b5c2d1e0f9a8b7c6", "4c4c4544-0051-3510-8052-b4c04f4d3732",
                "  SN \"17\"  ");
  b.AddIommuUnit("dmar0", "DMAR");
  b.AddSysctlDefaults();
  b.Add(RootPort("0000:00:1c.0", 1));
  FakeFunction bmc = Fn("0000:03:00.0", 0x1a03, 0x2000, 0x030000, "0000:00:1c.0", "ast", 1);
  bmc.boot_vga = 1;
  b.Add(bmc);
  b.Add(RootPort("0000:00:01.0", 2));
  b.Add(Fn("0000:17:00.0", 0x10de, 0x26b9, 0x030200, "0000:00:01.0", "nvidia", 2));
  b.Add(Fn("0000:17:00.1", 0x10de, 0x22ba, 0x040300, "0000:00:01.0", "snd_hda_intel", 2));
  b.Add(RootPort("0000:80:01.0", 3));
  FakeFunction g2 = Fn("0000:81:00.0", 0x10de, 0x26b9, 0x030200, "0000:80:01.0", "nvidia", 3);
  g2.numa_node = "1";
  g2.reset_method = "flr bus";
  b.Add(g2);
  FakeFunction a2 = Fn("0000:81:00.1", 0x10de, 0x22ba, 0x040300, "0000:80:01.0", "", 3);
  a2.numa_node = "1";
  b.Add(a2);
  b.Add(RootPort("0000:00:02.0", 4));
  b.Add(Fn("0000:21:00.0", 0x10de, 0x1e87, 0x030000, "0000:00:02.0", "nvidia", 4));
  b.Add(Fn("0000:21:00.1", 0x10de, 0x10f8, 0x040300, "0000:00:02.0", "snd_hda_intel", 4));
  b.Add(Fn("0000:21:00.2", 0x10de, 0x1ad8, 0x0c0330, "0000:00:02.0", "xhci_hcd", 4));
  b.Add(Fn("0000:21:00.3", 0x10de, 0x1ad9, 0x0c8000, "0000:00:02.0", "nvidia-gpu", 4));
  b.Add(RootPort("0000:00:03.0", 5));
  b.Add(Fn("0000:31:00.0", 0x1002, 0x744c, 0x030000, "0000:00:03.0", "amdgpu", 5));
  b.Add(Fn("0000:31:00.1", 0x1002, 0xab30, 0x040300, "0000:00:03.0", "snd_hda_intel", 5));
  b.Add(Fn("0000:00:03.1", 0x8086, 0x1533, 0x020000, "", "igb", 5));
  b.Add(RootPort("0000:00:1d.0", 6));
  b.Add(Fn("0000:3d:00.0", 0x144d, 0xa80a, 0x010802, "0000:00:1d.0", "nvme", 6));
  b.SetRootDisk("0000:3d:00.0", "nvme0n1");
  b.Add(Fn("0000:00:1f.6", 0x8086, 0x15bb, 0x020000, "", "e1000e", 7));
  b.SetDefaultRoute("0000:00:1f.6", "eno1");
  // Two sockets: node 1 holds the second GPU.
  b.Write("/sys/devices/system/node/node0/cpulist", "0-15,32-47\n");
  b.Write("/sys/devices/system/node/node1/cpulist", "16-31,48-63\n");
}

}  // namespace gpuhost::testing
