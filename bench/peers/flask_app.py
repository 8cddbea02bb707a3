"""A Flask + flask-jwt-extended token server, the hand-rolled kind bench/peers.sh measures
Portcullis against: the password grant checks an Argon2id hash (Portcullis's parameters) kept
in MongoDB (the same database server Portcullis uses) and answers with HS256 JWTs (the
library's default); the refresh grant looks the user up again and issues a new access token
(the refresh token is not rotated); /api/me checks the JWT and answers with its claims.

    PEER_MONGODB_URI=... PEER_DATABASE=... PEER_PASSWORD=... PEER_JWT_SECRET=... gunicorn -w 2 -k gthread --threads 8 flask_app:app
"""

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)
from pymongo import MongoClient

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["PEER_JWT_SECRET"]
JWTManager(app)
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
users = MongoClient(os.environ["PEER_MONGODB_URI"])[os.environ["PEER_DATABASE"]]["users"]


def seed():
    """The user `bench` with PEER_PASSWORD (once, by whichever worker comes first)."""
    users.create_index("username", unique=True)
    users.update_one(
        {"username": "bench"},
        {"$setOnInsert": {"password_hash": hasher.hash(os.environ["PEER_PASSWORD"])}},
        upsert=True,
    )


seed()


def error(code, description, status=400):
    return jsonify(error=code, error_description=description), status


@app.post("/token")
def token():
    grant_type = request.form.get("grant_type")
    if grant_type == "password":
        user = users.find_one({"username": request.form.get("username", "")})
        try:
            hasher.verify(user["password_hash"] if user else "", request.form.get("password", ""))
        except (VerificationError, InvalidHashError):
            return error("invalid_grant", "wrong username or password")
        identity = user["username"]
        return jsonify(
            access_token=create_access_token(identity=identity),
            refresh_token=create_refresh_token(identity=identity),
            token_type="Bearer",
        )
    if grant_type == "refresh_token":
        return refresh()
    return error("unsupported_grant_type", "password or refresh_token")


def refresh():
    # flask-jwt-extended reads a refresh token from the Authorization header; the form carries it.
    try:
        claims = decode_token(request.form.get("refresh_token", ""))
    except Exception:  # any undecodable, expired or forged token
        return error("invalid_grant", "bad refresh token")
    if claims.get("type") != "refresh" or not users.find_one({"username": claims["sub"]}):
        return error("invalid_grant", "bad refresh token")
    return jsonify(access_token=create_access_token(identity=claims["sub"]), token_type="Bearer")


@app.get("/api/me")
@jwt_required()
def me():
    return jsonify(sub=get_jwt_identity(), claims=get_jwt())
