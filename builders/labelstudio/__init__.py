"""Label Studio stage: connection, labeling config, push, pull, and the result shapes Label Studio uses."""
