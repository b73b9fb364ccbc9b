// The peer wire format; see the module's README in the helper's report.
