#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "dockform/util/error.hpp"
#include "dockform/util/signals.hpp"

int main(int argc, char** argv) {
  using namespace dockform;
  cli::CliState state;
  CLI::App app{"dockform: snapshot and restore Docker volumes declared in a dockform manifest", "dockform"};
  cli::define_app(app, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(Exit::usage);
  }

  try {
    util::setup_logging(state.log);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  util::install_signal_handlers();
  core::Session session(state.global);
  try {
    int rc = state.run ? state.run(session) : 0;
    // A result nobody could read is a failure: quietly when the reader
    // closed the pipe (`| head`), as tar's is; loudly otherwise (a full disk).
    std::cout.flush();
    if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
      const int error = errno;
      if (util::stdout_closed()) return util::kClosedOutputExit;
      throw Error("could not write the output: " + std::string(std::strerror(error)));
    }
    return rc;
  } catch (const util::OutputClosed&) {
    return util::kClosedOutputExit;
  } catch (const util::Interrupted& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(Exit::error);
  }
}
