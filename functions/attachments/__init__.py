"""Attachments: files of leads and visits in Cloud Storage through v4 signed URLs."""
