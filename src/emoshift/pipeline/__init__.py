"""Pipeline orchestration: run folders, stage cache, manifest (runfolder.py); the EDA pipeline."""

from emoshift.pipeline.runfolder import RunFolder, StageResult, stable_hash

__all__ = ["RunFolder", "StageResult", "stable_hash"]
