// Two panels with a known overlap, for `halo demo exchange`, tests and the
// exchange benchmark: one join key a line (an e-mail-like string), the data
// provider's with a payload ("segment=N").
#ifndef HALO_EXCHANGE_SYNTHETIC_PANELS_H_
#define HALO_EXCHANGE_SYNTHETIC_PANELS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace halo::exchange {

// Writes `keys_each` keys to each file, `overlap` of them in both, in a
// shuffled order. Refuses an overlap larger than a panel.
absl::Status WriteSyntheticPanels(const std::string& data_provider_panel, const std::string& model_provider_panel,
                                  uint64_t keys_each, uint64_t overlap, uint64_t seed);

// The payload the data provider's panel gives `key`, to check what arrived.
std::string SyntheticPayload(const std::string& key);

}  // namespace halo::exchange

#endif  // HALO_EXCHANGE_SYNTHETIC_PANELS_H_
