// The two workflows of config/exchange/: what `halo exchange
// example-workflow` prints and `halo demo exchange` runs.
//  - mini: a double-blind private set intersection of the two panels; each
//    party ends with the keys of its panel that the other's also holds.
//  - full: the same, and the data provider's payloads for the matched keys
//    reach the model provider, sealed so that only a holder of the join key
//    opens one.
// Each party's panel is "panel.txt" in its input directory; outputs go to
// "matched.txt" in its output directory.
#ifndef HALO_EXCHANGE_EXAMPLE_WORKFLOWS_H_
#define HALO_EXCHANGE_EXAMPLE_WORKFLOWS_H_

#include "halo/api/v1/exchanges.pb.h"

namespace halo::exchange {

api::v1::ExchangeWorkflow MiniExchangeWorkflow();
api::v1::ExchangeWorkflow FullExchangeWorkflow();

}  // namespace halo::exchange

#endif  // HALO_EXCHANGE_EXAMPLE_WORKFLOWS_H_
