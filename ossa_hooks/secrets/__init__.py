"""The secret scanner: engine, provider plugins, baseline and reports."""
