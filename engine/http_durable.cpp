// HttpApi::handle_async: handle(), except that in --durable mode a successful POST /pub or /mpub is answered
// only once the topic has fsynced its messages (they share the group commit with the TCP publishers).
#include <functional>

#include "engine/http_api.h"
#include "engine/http_endpoints.h"
#include "engine/http_query.h"
#include "engine/nsqd.h"
#include "engine/topic.h"

namespace nsq {

void HttpApi::handle_async(const HttpRequest& req, std::function<void(HttpResponse)> done) {
  HttpResponse answer = handle(req);
  const bool publish = req.method == "POST" && (req.path == "/pub" || req.path == "/mpub");
  if (!publish || answer.status != 200 || !nsqd_.options().durable) {
    done(std::move(answer));
    return;
  }
  const auto params = QueryParams::parse(req.query);
  const std::string* name = params ? params->first("topic") : nullptr;
  Topic* topic = name != nullptr ? nsqd_.find_topic(*name) : nullptr;
  if (topic == nullptr || !topic->durable()) {
    done(std::move(answer));
    return;
  }
  topic->when_durable([this, done = std::move(done), answer = std::move(answer)](const std::string& err) mutable {
    // A failed fsync is a disk fault like a failed write: the daemon is unhealthy (/ping 500) until a later
    // write succeeds (as the TCP publishers' path). A topic deleted under the publish is not a disk fault.
    if (!err.empty() && err != Topic::kTopicExiting) nsqd_.set_health(err);
    // nsqd answers every failed PutMessage(s) the same way.
    done(err.empty() ? std::move(answer) : http::v1_error(503, "EXITING"));
  });
}

}  // namespace nsq
