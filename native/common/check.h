// Errors for the engine. Kernels and model code never abort the process: a broken invariant
// throws rlcd::Error (a std::runtime_error) whose message names the place and gives a hint; the
// binding turns it into a JavaScript Error, so a bad input costs one rejected Promise, not the process.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace rlcd {

// A problem with the caller's input (wrong size, out-of-range id). The binding maps it to RangeError.
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A broken engine invariant or a resource failure. The binding maps it to Error.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace rlcd

// RLCD_CHECK(cond, "what", value, ...): internal invariant; message gets file:line.
#define RLCD_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond))                                                                               \
      throw ::rlcd::Error(::rlcd::concat(__FILE__, ":", __LINE__, ": ", __VA_ARGS__));         \
  } while (0)

// RLCD_REQUIRE(cond, "what", ...): a caller's input is out of range; message is for the user.
#define RLCD_REQUIRE(cond, ...)                                                                \
  do {                                                                                         \
    if (!(cond)) throw ::rlcd::RangeError(::rlcd::concat(__VA_ARGS__));                       \
  } while (0)
