// index.html of an exploration (`faultmux explore`, or its shards merged by
// `faultmux report`): the certificate, a coverage map (phase and call by
// effect, each cell coloured by its runs' verdicts, a violation linked to
// its row) and the table of violations with their commands and their shrunk
// reproducers'. `doc` is one entry of results.json's explore section.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace faultmux::reports {

std::string render_explore_html(const nlohmann::json& doc);

}  // namespace faultmux::reports
