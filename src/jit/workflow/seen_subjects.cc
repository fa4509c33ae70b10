#include "jit/workflow/seen_subjects.h"

namespace jit {

void SeenSubjects::Record(const Subject& subject) {
  SystemTime now = clock_.Now();
  std::lock_guard lock(mu_);
  auto it = by_name_.find(subject.name);
  if (it != by_name_.end()) {
    auto [lo, hi] = by_age_.equal_range(it->second.seen);
    for (auto a = lo; a != hi; ++a) {
      if (a->second == subject.name) {
        by_age_.erase(a);
        break;
      }
    }
    it->second = Entry{subject, now};
  } else {
    while (!by_age_.empty() && by_name_.size() >= max_entries_) {
      by_name_.erase(by_age_.begin()->second);
      by_age_.erase(by_age_.begin());
    }
    by_name_.emplace(subject.name, Entry{subject, now});
  }
  by_age_.emplace(now, subject.name);
}

std::optional<Subject> SeenSubjects::Find(const std::string& name) const {
  SystemTime now = clock_.Now();
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  if (now - it->second.seen > max_age_) return std::nullopt;
  return it->second.subject;
}

size_t SeenSubjects::size() const {
  std::lock_guard lock(mu_);
  return by_name_.size();
}

}  // namespace jit
