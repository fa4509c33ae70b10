#pragma once

#include <string>
#include <vector>

#include "jit/audit/export_verifier.h"
#include "jit/cli/json_fields.h"

namespace jit {

// What an evidence pack shows: the period's report, the events of the
// verified export and the verdict of checking that export.
struct EvidenceInput {
  std::string from, to, generated_at, server;
  Json report;               // GET /v1/reports/summary for the period
  std::vector<Json> events;  // the exported events, in seq order
  ExportVerdict verdict;     // of the export file written beside the page
  std::string key_id;        // the key the export was checked with
};

// A self-contained HTML page (inline CSS and SVG charts, no scripts, no
// network): the verification verdict, summary figures, charts, one section
// per audited control naming the events that prove it, and the grants of
// the period with who asked, why, who approved, when and how they ended.
// Every piece of text from the log is HTML-escaped (THREATS T16). Pure.
std::string EvidenceHtml(const EvidenceInput& in);

}  // namespace jit
