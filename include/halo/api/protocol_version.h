// The version of the MPC protocols this build speaks: the stage messages
// between duchies, the register and share formats, and how both HMSS
// workers derive their permutation and masks from the seed they share. The
// Kingdom writes it into every computation's ProtocolConfig and a duchy
// puts it on every stage input it sends; a duchy refuses a computation or an
// input of another version, naming both, so that duchies on different
// builds fail a measurement instead of computing a wrong result. Bump it
// with any change to those.
#ifndef HALO_API_PROTOCOL_VERSION_H_
#define HALO_API_PROTOCOL_VERSION_H_

#include <cstdint>

namespace halo::api {

inline constexpr int32_t kProtocolVersion = 1;

}  // namespace halo::api

#endif  // HALO_API_PROTOCOL_VERSION_H_
