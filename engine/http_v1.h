// nsqd's internal/http_api client helpers (GETV1/POSTV1) as the engine's HTTP callers need them: the answer a
// caller accepts, and the one retry nsqd makes: a 403 from a plain-http endpoint is asked again over https at
// the "https_port" its JSON body names (an nsqd/nsqlookupd that requires TLS answers so).
#pragma once

#include <optional>
#include <string>

#include "engine/seam/http_client.h"

namespace nsq {

// "" when resp is a 200; otherwise nsqd's error text ("got response 500 Internal Server Error \"...\"", or the
// transport error).
std::string http_v1_error(const seam::HttpResponse& resp);

// The https request to send instead of a plain-http one answered 403, or nullopt (not a 403 over http; error
// set if the body does not say where).
std::optional<seam::HttpRequest> http_v1_https_retry(const seam::HttpRequest& req, const seam::HttpResponse& resp,
                                                     std::string& error);

}  // namespace nsq
