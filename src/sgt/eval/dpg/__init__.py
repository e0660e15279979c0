"""DPG-Bench (Table 9): ELLA's layout and yes/no VQA scoring, and the job that scores one folder."""
