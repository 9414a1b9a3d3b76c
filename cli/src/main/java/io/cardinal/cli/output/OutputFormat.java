package io.cardinal.cli.output;

/** {@code -o table|json|yaml}. */
public enum OutputFormat {
  TABLE,
  JSON,
  YAML
}
