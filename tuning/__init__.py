"""KerasTuner searches over tfgen presets (`tfgen tune`); arrives with the tuning issue."""
