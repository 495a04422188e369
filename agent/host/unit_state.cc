#include "host/unit_state.h"

#include <systemd/sd-bus.h>

#include <cstdlib>

namespace gpuhost {

bool UnitActive(const std::string& unit) {
  sd_bus* bus = nullptr;
  if (sd_bus_open_system(&bus) < 0) return false;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  bool active = false;
  // GetUnit (not LoadUnit) fails for a unit that is not loaded: not active.
  int r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                             "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s",
                             unit.c_str());
  const char* path = nullptr;
  if (r >= 0 && sd_bus_message_read(reply, "o", &path) >= 0 && path != nullptr) {
    char* state = nullptr;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                   "org.freedesktop.systemd1.Unit", "ActiveState", &error,
                                   &state) >= 0) {
      active = std::string(state) == "active";
      std::free(state);
    }
  }
  sd_bus_message_unref(reply);
  sd_bus_error_free(&error);
  sd_bus_flush_close_unref(bus);
  return active;
}

}  // namespace gpuhost
