"""Emotion recognisers used for evaluation: face.py (FER), speech.py (SER), text.py (TER)."""

from emoshift.recognize.base import EmotionProbs, EmotionRecognizer

__all__ = ["EmotionProbs", "EmotionRecognizer"]
