"""The spec repo as a Git project: lock conflicts between branches, CODEOWNERS."""
