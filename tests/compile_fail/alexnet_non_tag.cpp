// A non-tag argument to AlexNet is reported with its position, in one short message.
// expect: thaw::AlexNet: argument 3 \(CL3, conv3\) must be thaw::Freeze or thaw::Train
#include "thaw/models/alexnet.hpp"

#if defined(THAW_SHOULD_FAIL)
using Third = int;
#else
using Third = thaw::Train;
#endif

using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, Third, thaw::Train, thaw::Freeze>;
static_assert(Net::size > 0);
