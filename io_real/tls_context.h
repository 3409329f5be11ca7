// nsqd's server-side TLS configuration (buildTLSConfig) as an OpenSSL context, and how nsqd names the
// negotiated version and cipher suite in /stats.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "engine/options.h"

namespace nsq::io_real {

// The context for --tls-cert/--tls-key, --tls-client-auth-policy, --tls-root-ca-file and --tls-min-version, or
// null when neither cert nor key is set (TLS off, as nsqd). On failure returns null and sets error to the text
// nsqd puts after "failed to build TLS config - ".
// Go's os.Open error wording for a file that cannot be read ("open <path>: no such file or directory"), or "".
std::string go_open_error(const std::string& path);

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const Options& options, std::string& error);

// Go's crypto/tls names as nsqd's prettyConnectionState prints them: "TLS1.2", or "Unknown <n>".
std::string go_tls_version_name(int version);
// nsqd's table of suite names, "Unknown <IANA id>" for the rest (all TLS 1.3 suites included).
std::string go_cipher_suite_name(std::uint16_t iana_id);

}  // namespace nsq::io_real
