// Where Podman's Docker-compatible API differs from dockerd: the engine product
// named from GET /version bodies as both send them, container states, label
// filters checked client-side, and conflicts answered with 500.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockform/engine/compat.hpp"
#include "dockform/engine/product.hpp"

namespace dockform::engine {
namespace {

using nlohmann::json;

TEST(EngineProduct, DebianDockerdHasNoPlatformName) {
  auto version = json::parse(R"({"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1"},
    {"Name":"containerd","Version":"1.6.20~ds1"}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41"})");
  EXPECT_EQ("Docker Engine", product_name(version));
}

TEST(EngineProduct, DockerCommunityNamesItselfInPlatform) {
  auto version = json::parse(R"({"Platform":{"Name":"Docker Engine - Community"},
    "Components":[{"Name":"Engine","Version":"24.0.7"}],"Version":"24.0.7"})");
  EXPECT_EQ("Docker Engine - Community", product_name(version));
}

TEST(EngineProduct, PodmanPlatformIsADistributionNotAProduct) {
  auto version = json::parse(R"js({"Platform":{"Name":"linux/amd64/debian-12"},"Components":[
    {"Name":"Podman Engine","Version":"4.3.1"},{"Name":"Conmon","Version":"conmon version 2.1.6"},
    {"Name":"OCI Runtime (runc)","Version":"runc version 1.1.5"}],"Version":"4.3.1","ApiVersion":"1.41"})js");
  EXPECT_EQ("Podman Engine", product_name(version));
}

TEST(EngineProduct, NothingToGoBy) {
  EXPECT_EQ("unknown engine", product_name(json::object()));
  EXPECT_EQ("unknown engine", product_name(json::parse(R"({"Platform":"x","Components":{"a":1}})")));
  EXPECT_EQ("unknown engine", product_name(json::parse(R"({"Components":[1,"Engine",{"Name":7}]})")));
  EXPECT_EQ("unknown engine", product_name(json()));
}

TEST(EngineCompat, PodmanStatesAreNamedAsDockerdNamesThem) {
  EXPECT_EQ("created", docker_state("configured"));
  EXPECT_EQ("exited", docker_state("stopped"));
  EXPECT_EQ("running", docker_state("stopping"));
  for (const char* same : {"created", "running", "paused", "restarting", "removing", "exited", "dead", ""}) {
    EXPECT_EQ(same, docker_state(same));
  }
}

TEST(EngineCompat, EveryLabelFilterMustMatch) {
  std::map<std::string, std::string> labels = {{"io.dockform.helper", "1"}, {"io.dockform.volume", "data"}};
  EXPECT_TRUE(matches_label_filters(labels, {}));
  EXPECT_TRUE(matches_label_filters(labels, {"io.dockform.helper"}));
  EXPECT_TRUE(matches_label_filters(labels, {"io.dockform.helper", "io.dockform.volume=data"}));
  EXPECT_FALSE(matches_label_filters(labels, {"io.dockform.helper", "io.dockform.volume=other"}));
  EXPECT_FALSE(matches_label_filters(labels, {"io.dockform.lock"}));
  EXPECT_FALSE(matches_label_filters(labels, {"io.dockform.helper=2"}));
  EXPECT_TRUE(matches_label_filters({{"empty", ""}}, {"empty="}));
  EXPECT_FALSE(matches_label_filters({{"empty", "x"}}, {"empty="}));
}

TEST(EngineCompat, PodmanConflictsAre409) {
  EXPECT_EQ(409, docker_status(500, R"({"cause":"that name is already in use","message":"container create: the )"
                                    R"(container name \"x\" is already in use by 1234","response":500})"));
  EXPECT_EQ(409,
            docker_status(500, R"({"cause":"container state improper","message":"can only kill running )"
                               R"(containers. 1234 is in state exited: container state improper","response":500})"));
  EXPECT_EQ(500, docker_status(500, R"({"cause":"something else","message":"broke","response":500})"));
  // Inspected while Podman removes it: gone, as dockerd's 404 says.
  EXPECT_EQ(404, docker_status(500, R"({"cause":"no such container","message":"container 4b7e does not exist )"
                                    R"(in database: no such container","response":500})"));
  EXPECT_EQ(500, docker_status(500, R"({"message":"no cause"})"));
  EXPECT_EQ(500, docker_status(500, "not json"));
  EXPECT_EQ(404, docker_status(404, R"({"cause":"no such container","message":"no such container"})"));
  EXPECT_EQ(409, docker_status(409, R"({"message":"Conflict. The container name is already in use"})"));
  EXPECT_EQ(200, docker_status(200, R"({"cause":"that name is already in use"})"));
}

TEST(EngineCompat, DockerdRemoveRacingTheExitIsAConflict) {
  // Seen from dockerd 20.10 when a forced remove meets a helper that is exiting.
  EXPECT_EQ(409, docker_status(500, R"({"message":"Could not kill running container 8dbc, cannot remove - )"
                                    R"(Container 8dbc is not running"})"));
  EXPECT_EQ(500, docker_status(500, R"({"message":"Could not kill running container 8dbc, cannot remove - )"
                                    R"(permission denied"})"));
  EXPECT_EQ(500, docker_status(500, R"({"message":"Container 8dbc is not running"})"));
}

}  // namespace
}  // namespace dockform::engine
