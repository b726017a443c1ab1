from __future__ import annotations
import math
from dataclasses import dataclass

@dataclass(frozen=True, slots=True)
class Calibration:
    bias: float
    w_score: float
    w_margin: float
    def confidence(self, score: float, margin: float) -> float:
        z = self.bias + self.w_score * score + self.w_margin * margin
        return 1.0 / (1.0 + math.exp(-z))
    @classmethod
    def default(cls, lang: str) -> "Calibration":
        return cls(-6.0, 12.0, 4.0)

def fit_calibration(index, lang):
    return Calibration.default(lang)
