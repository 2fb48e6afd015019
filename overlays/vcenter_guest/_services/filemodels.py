"""The generated modules the files service uses, imported on first use (`import vcenter_guest` loads none)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

__all__ = ["_generated"]


@functools.cache
def _generated() -> SimpleNamespace:
    from vcenter_guest_client.api.guest_file import guest_file_download, guest_file_upload  # noqa: PLC0415
    from vcenter_guest_client.api.vmguestfilesystem import transfers_create  # noqa: PLC0415
    from vcenter_guest_client.api.vmguestfilesystemdirectories import (  # noqa: PLC0415
        directories_create,
        directories_create_temporary,
        directories_delete,
        directories_move,
    )
    from vcenter_guest_client.api.vmguestfilesystemfiles import (  # noqa: PLC0415
        files_create_temporary,
        files_delete,
        files_get,
        files_list,
        files_move,
        files_update,
    )
    from vcenter_guest_client.models import (  # noqa: PLC0415
        DirectoriesCreateBody,
        DirectoriesCreateTemporaryBody,
        DirectoriesDeleteBody,
        DirectoriesMoveBody,
        FileAttributesUpdateSpec,
        FileCreationAttributes,
        FileFilterSpec,
        FileInfo,
        FileListResult,
        FilesCreateTemporaryBody,
        FilesCredentialsBody,
        FilesListBody,
        FilesMoveBody,
        FilesUpdateBody,
        IterationSpec,
        PosixFileAttributesCreateSpec,
        PosixFileAttributesUpdateSpec,
        TransferCreateSpec,
        TransfersCreateBody,
        WindowsFileAttributesUpdateSpec,
    )
    from vcenter_guest_client.types import UNSET, File, Unset  # noqa: PLC0415

    from vcenter_guest._wire import responses  # noqa: PLC0415

    return SimpleNamespace(
        guest_file_download=guest_file_download,
        guest_file_upload=guest_file_upload,
        transfers_create=transfers_create,
        directories_create=directories_create,
        directories_create_temporary=directories_create_temporary,
        directories_delete=directories_delete,
        directories_move=directories_move,
        files_create_temporary=files_create_temporary,
        files_update=files_update,
        files_delete=files_delete,
        files_get=files_get,
        files_list=files_list,
        files_move=files_move,
        DirectoriesCreateBody=DirectoriesCreateBody,
        DirectoriesCreateTemporaryBody=DirectoriesCreateTemporaryBody,
        DirectoriesDeleteBody=DirectoriesDeleteBody,
        DirectoriesMoveBody=DirectoriesMoveBody,
        FileCreationAttributes=FileCreationAttributes,
        FileFilterSpec=FileFilterSpec,
        FileInfo=FileInfo,
        FileListResult=FileListResult,
        FilesCredentialsBody=FilesCredentialsBody,
        FilesListBody=FilesListBody,
        FilesMoveBody=FilesMoveBody,
        FilesCreateTemporaryBody=FilesCreateTemporaryBody,
        FilesUpdateBody=FilesUpdateBody,
        FileAttributesUpdateSpec=FileAttributesUpdateSpec,
        PosixFileAttributesUpdateSpec=PosixFileAttributesUpdateSpec,
        WindowsFileAttributesUpdateSpec=WindowsFileAttributesUpdateSpec,
        IterationSpec=IterationSpec,
        PosixFileAttributesCreateSpec=PosixFileAttributesCreateSpec,
        TransferCreateSpec=TransferCreateSpec,
        TransfersCreateBody=TransfersCreateBody,
        UNSET=UNSET,
        File=File,
        Unset=Unset,
        wire=responses,
    )
